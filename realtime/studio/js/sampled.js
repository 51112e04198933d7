// The sampled world at the current frame (SPEC §6 shape: {frame, entities: {id: {kind, matrix, joints?, camera?,
// light?, …}}}), computed in the page by sample.js — the mirror of core.sampling, tested against it — from the
// world that worlddoc.js reads out of the live document. The decoded world is kept until the document changes;
// requests are coalesced to one sample per animation frame, at the latest frame asked for.

import { sampleJson } from './sample.js'
import { worldFromDoc } from './worlddoc.js'

export class SampledWorld extends EventTarget {
  constructor (session) {
    super()
    this.session = session
    this.current = null
    this.frame = 0
    this.world = null // the decoded document, until it changes
    this.preview = null // a raw world at an earlier offset (read-only time travel) shown instead of the live one
    this.scheduled = false
    this.timings = { decode_ms: 0, sample_ms: 0 }
    session.addEventListener('doc', () => { this.world = null })
  }

  /** Ask for the world at `frame` (after a document change, pass the same frame). */
  request (frame) {
    this.frame = frame
    if (this.scheduled) return
    this.scheduled = true
    requestAnimationFrame(() => {
      this.scheduled = false
      this.sampleNow()
    })
  }

  /** The world decoded from the document as it is now. */
  decoded () {
    if (this.preview) return this.preview
    if (this.world === null) this.world = worldFromDoc(this.session.doc)
    return this.world
  }

  sampleNow () {
    if (this.session.closed || !this.session.doc.getMap('meta').has('head_seq')) return null // not synced yet
    try {
      let t = performance.now()
      if (this.world === null && !this.preview) {
        this.world = worldFromDoc(this.session.doc)
        this.timings.decode_ms = performance.now() - t
        t = performance.now()
      }
      this.current = sampleJson(this.preview || this.world, this.frame)
      this.timings.sample_ms = performance.now() - t
      this.dispatchEvent(new CustomEvent('sampled', { detail: this.current }))
    } catch (e) {
      this.dispatchEvent(new CustomEvent('error', { detail: e }))
    }
    return this.current
  }
}
