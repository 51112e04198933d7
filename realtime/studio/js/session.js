// One shot's live document over the sync socket (SPEC §5–6): the stock y-websocket provider, plus commands
// (message type 100) and their results (type 101) on the same socket. The document is read-only here: panels
// render it, edits go out as commands, and the update that comes back changes the screen.
//
// Close codes: 4401 (bad or expired token) → `onSignedOut`; 4410 (another reducer version's document) → drop the
// document and resync with a fresh one; other 44xx → `onFatal`; anything else (a server restart) → the provider
// reconnects by itself and resyncs from its state vector.

import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

const MESSAGE_COMMAND = 100
const MESSAGE_COMMAND_RESULT = 101

export class ShotSession extends EventTarget {
  constructor ({ project, shot, token, user, onSignedOut, onFatal }) {
    super()
    this.project = project
    this.shot = shot
    this.token = token
    this.user = user
    this.onSignedOut = onSignedOut
    this.onFatal = onFatal
    this.pending = new Map() // command_id -> {resolve, reject, timer}
    this.localState = {}
    this.status = 'connecting'
    this.resyncs = 0
    this._open()
  }

  _open () {
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws'
    this.doc = new Y.Doc()
    this.provider = new WebsocketProvider(`${scheme}://${window.location.host}/v1/projects/${this.project}/shots`,
      `${this.shot}/sync`, this.doc, { params: { token: this.token }, disableBc: true })
    this.awareness = this.provider.awareness
    this.provider.messageHandlers[MESSAGE_COMMAND_RESULT] = (_encoder, decoder) => {
      this._result(JSON.parse(decoding.readVarString(decoder)))
    }
    this.provider.on('status', ({ status }) => this._status(status))
    this.provider.on('sync', (synced) => { if (synced) this._emit('synced') })
    this.provider.on('connection-close', (event) => this._closed(event))
    this._entities = null
    this.doc.on('update', () => { this._entities = null; this._emit('doc') })
    this.awareness.on('change', () => this._emit('awareness'))
    if (Object.keys(this.localState).length) this.awareness.setLocalState(this.localState)
  }

  _emit (name, detail) { this.dispatchEvent(new CustomEvent(name, { detail })) }

  _status (status) {
    this.status = status
    this._emit('status', status)
  }

  _closed (event) {
    if (!event) return
    const code = event.code
    for (const [, p] of this.pending) p.reject(new Error(`socket closed (${code})`))
    this.pending.clear()
    if (code === 4401) {
      this.close()
      this.onSignedOut(event.reason || 'token rejected')
    } else if (code === 4410) {
      this.resyncs += 1 // the server's document changed reducer version: start over from a fresh doc
      this._teardown()
      this._open()
      this._emit('doc')
    } else if (code >= 4400 && code < 4500) {
      this.close()
      this.onFatal(`${code} ${event.reason || ''}`.trim())
    }
  }

  _teardown () {
    this.provider.destroy()
    this.doc.destroy()
  }

  close () {
    if (this.closed) return
    this.closed = true
    this._teardown()
  }

  get connected () { return this.provider.wsconnected && this.provider.synced }

  // -------------------------------------------------------------- reading the document

  meta () { return this.doc.getMap('meta').toJSON() }
  /** The entities as plain data, decoded once per document change (panels share it and must not modify it). */
  entities () {
    if (this._entities === null) this._entities = this.doc.getMap('entities').toJSON()
    return this._entities
  }
  relations () { return this.doc.getMap('relations').toJSON() }
  directives () { return this.doc.getMap('directives').toJSON() }
  headSeq () { return this.doc.getMap('meta').get('head_seq') ?? null }

  // -------------------------------------------------------------- commands

  /** Send a command; resolves with the server's result `{command_id, seq, status, reason?}`. */
  send (command, timeoutMs = 10000) {
    if (!this.provider.wsconnected || !this.provider.ws) return Promise.reject(new Error('not connected'))
    const encoder = encoding.createEncoder()
    encoding.writeVarUint(encoder, MESSAGE_COMMAND)
    encoding.writeVarString(encoder, JSON.stringify(command))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(command.command_id)
        reject(new Error('no answer from the server'))
      }, timeoutMs)
      this.pending.set(command.command_id, { resolve, reject, timer })
      this.provider.ws.send(encoding.toUint8Array(encoder))
    })
  }

  _result (result) {
    const p = this.pending.get(result.command_id)
    if (!p) return
    clearTimeout(p.timer)
    this.pending.delete(result.command_id)
    p.resolve(result)
    this._emit('result', result)
  }

  // -------------------------------------------------------------- awareness

  setAwareness (fields) {
    this.localState = { ...this.localState, ...fields }
    for (const [k, v] of Object.entries(fields)) if (v === undefined) delete this.localState[k]
    this.awareness.setLocalState(this.localState)
  }

  /** Other clients' states: [{clientId, state}]. */
  others () {
    const out = []
    this.awareness.getStates().forEach((state, clientId) => {
      if (clientId !== this.doc.clientID && state && state.user) out.push({ clientId, state })
    })
    return out
  }
}
