// The sampled world at the current frame (SPEC §6 shape: {frame, entities: {id: {kind, matrix, joints?, camera?,
// light?, …}}}), recomputed when the document or the frame changes.
//
// Until the browser sampler (sample.js / worlddoc.js, mirroring core) is on this branch, the sampled world is
// read from the API (`GET …/world?frame=F` at the document's head); one request at a time, the latest wins.

export class SampledWorld extends EventTarget {
  constructor (session, api) {
    super()
    this.session = session
    this.api = api
    this.current = null
    this.frame = 0
    this.inflight = false
    this.dirty = false
  }

  /** Ask for the world at `frame` (after a document change, pass the same frame). */
  request (frame) {
    this.frame = frame
    this.dirty = true
    if (!this.inflight) this._next()
  }

  async _next () {
    if (!this.dirty || this.session.closed) return
    this.dirty = false
    this.inflight = true
    const frame = this.frame
    try {
      const world = await this.api.sampled(this.session.project, this.session.shot, frame)
      this.current = world
      this.dispatchEvent(new CustomEvent('sampled', { detail: world }))
    } catch (e) {
      this.dispatchEvent(new CustomEvent('error', { detail: e }))
    } finally {
      this.inflight = false
      if (this.dirty) this._next()
    }
  }
}
