// A stock Yjs client (yjs + y-websocket + ws) driven by JSON lines, for the end-to-end tests and the bench.
//
//   node client.cjs WS_BASE PROJECT SHOT TOKEN
//
// connects with `new WebsocketProvider(WS_BASE + '/v1/projects/' + PROJECT + '/shots', SHOT + '/sync', doc,
// { params: { token }, WebSocketPolyfill: require('ws') })` — the stock provider, nothing patched — and:
//   stdin  {"op":"command","command":{command_id, ops, expected_seq?}}   sends message type 100
//          {"op":"awareness","state":{...}}                               sets the local awareness state
//          {"op":"wait_entity","id":"cube"}                               answers once the entity is in the doc
//          {"op":"dump"}                                                   answers with the document as JSON
//          {"op":"close"}                                                  disconnects and exits
//   stdout {"ev":"synced"}, {"ev":"result", ...}, {"ev":"entity","id":...}, {"ev":"awareness","states":{...}},
//          {"ev":"dump","doc":{...}}, {"ev":"closed","code":...,"reason":...}, {"ev":"permission-denied",...}
'use strict'

const Y = require('yjs')
const { WebsocketProvider } = require('y-websocket')
const encoding = require('lib0/encoding')
const decoding = require('lib0/decoding')
const readline = require('readline')

const MESSAGE_COMMAND = 100
const MESSAGE_COMMAND_RESULT = 101

const [base, project, shot, token] = process.argv.slice(2)
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

const doc = new Y.Doc()
const provider = new WebsocketProvider(`${base}/v1/projects/${project}/shots`, `${shot}/sync`, doc, {
  params: { token },
  WebSocketPolyfill: require('ws'),
  disableBc: true
})

// Command results: the one handler a client adds to the stock provider.
provider.messageHandlers[MESSAGE_COMMAND_RESULT] = (_encoder, decoder) => {
  out({ ev: 'result', ...JSON.parse(decoding.readVarString(decoder)) })
}

const sendCommand = (command) => {
  const encoder = encoding.createEncoder()
  encoding.writeVarUint(encoder, MESSAGE_COMMAND)
  encoding.writeVarString(encoder, JSON.stringify(command))
  provider.ws.send(encoding.toUint8Array(encoder))
}

provider.on('sync', (synced) => { if (synced) out({ ev: 'synced', client_id: doc.clientID }) })
provider.on('connection-close', (event) => {
  if (event) out({ ev: 'closed', code: event.code, reason: event.reason })
})

const origWarn = console.warn
console.warn = (...args) => {
  const text = args.join(' ')
  if (text.startsWith('Permission denied')) out({ ev: 'permission-denied', reason: text })
  else origWarn(...args)
}

const entities = () => doc.getMap('entities')
const waiting = new Map() // entity id -> true while someone waits for it
doc.on('update', () => {
  for (const id of Array.from(waiting.keys())) {
    if (entities().has(id)) {
      waiting.delete(id)
      out({ ev: 'entity', id, at: Date.now() })
    }
  }
})

provider.awareness.on('change', () => {
  const states = {}
  provider.awareness.getStates().forEach((state, clientId) => {
    if (clientId !== doc.clientID) states[clientId] = state
  })
  out({ ev: 'awareness', states })
})

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (line) => {
  if (!line.trim()) return
  const msg = JSON.parse(line)
  switch (msg.op) {
    case 'command':
      sendCommand(msg.command)
      break
    case 'awareness':
      provider.awareness.setLocalState(msg.state)
      break
    case 'wait_entity':
      if (entities().has(msg.id)) out({ ev: 'entity', id: msg.id, at: Date.now() })
      else waiting.set(msg.id, true)
      break
    case 'dump':
      out({ ev: 'dump', doc: { meta: doc.getMap('meta').toJSON(), entities: entities().toJSON() } })
      break
    case 'close':
      provider.destroy()
      process.exit(0)
  }
})
rl.on('close', () => { provider.destroy(); process.exit(0) })
