// The sampled world at the current frame (SPEC §6 shape: {frame, entities: {id: {kind, matrix, joints?, camera?,
// light?, …}}}), computed in the page by sample.js — the mirror of core.sampling, tested against it — from the
// world that worlddoc.js keeps from the live document (watchWorld: each update re-reads only what it touched, and
// untouched tracks keep the sampler's prepared data). Requests are coalesced to one sample per animation frame,
// at the latest frame asked for.

import { sampleJson } from './sample.js'
import { watchWorld } from './worlddoc.js'

export class SampledWorld extends EventTarget {
  constructor (session) {
    super()
    this.session = session
    this.current = null
    this.frame = 0
    this.watch = null // watchWorld over session.doc (a new one when the session starts over on a fresh doc)
    this.watched = null
    this.preview = null // a raw world at an earlier offset (read-only time travel) shown instead of the live one
    this.scheduled = false
    this.timings = { sample_ms: 0 }
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
    if (this.watched !== this.session.doc) {
      if (this.watch) this.watch.stop()
      this.watch = watchWorld(this.session.doc)
      this.watched = this.session.doc
    }
    return this.watch.world
  }

  sampleNow () {
    if (this.session.closed || !this.session.doc.getMap('meta').has('head_seq')) return null // not synced yet
    try {
      const t = performance.now()
      this.current = sampleJson(this.decoded(), this.frame)
      this.timings.sample_ms = performance.now() - t
      this.dispatchEvent(new CustomEvent('sampled', { detail: this.current }))
    } catch (e) {
      this.dispatchEvent(new CustomEvent('error', { detail: e }))
    }
    return this.current
  }
}
