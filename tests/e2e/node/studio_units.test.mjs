// The studio's pure modules under Node's test runner (run by tests/e2e/test_studio_browser.py):
// command builders, roles, Euler angles against sample.js (core's convention), the pack reader, the colour helpers.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { command, commandId, setValue, keyMove, keyRemove, keySet, freshId, createEntity, ENTITY_DEFAULTS } from '../../../realtime/studio/js/commands.js'
import { mayEdit, mayWrite, mayRestore } from '../../../realtime/studio/js/roles.js'
import { quatToEulerDeg } from '../../../realtime/studio/js/consoles.js'
import { quatFromEulerDeg } from '../../../realtime/studio/js/sample.js'
import { untar } from '../../../realtime/studio/js/renders.js'
import { colorOf } from '../../../realtime/studio/js/auth.js'

test('a static attribute is set, an animated one gets a key at the frame', () => {
  const still = { tracks: {} }
  const moving = { tracks: { 'transform.position': [[0, [0, 0, 0], 'auto', 'ann', null, null]] } }
  assert.deepEqual(setValue(still, 'box', 'transform.position', [1, 2, 3], 10), { type: 'entity.set', id: 'box', path: 'transform.position', value: [1, 2, 3] })
  assert.deepEqual(setValue(moving, 'box', 'transform.position', [1, 2, 3], 10), { type: 'key.set', id: 'box', path: 'transform.position', frame: 10, value: [1, 2, 3] })
})

test('key edits are the SPEC ops, one key moved by a shift of exactly its frame', () => {
  assert.deepEqual(keyMove('box', 'visible', 24, 6), { type: 'track.shift', id: 'box', path: 'visible', by: 6, start: 24, end: 24 })
  assert.deepEqual(keyRemove('box', 'visible', 24), { type: 'key.remove', id: 'box', path: 'visible', frame: 24 })
  assert.deepEqual(keySet('box', 'visible', 3, true, 'constant'), { type: 'key.set', id: 'box', path: 'visible', frame: 3, value: true, interp: 'constant' })
  assert.equal('interp' in keySet('box', 'visible', 3, true), false)
  assert.deepEqual(createEntity('prop', 'box', ENTITY_DEFAULTS.prop()).props.geometry, { primitive: 'box', size: [1, 1, 1] })
})

test('command ids are unique, printable and within the server\'s 200 characters', () => {
  const ids = new Set(Array.from({ length: 1000 }, () => commandId('ann')))
  assert.equal(ids.size, 1000)
  for (const id of ids) assert.match(id, /^[!-~]{1,200}$/)
  assert.deepEqual(command([{ type: 'entity.remove', id: 'x' }], 'ann').ops, [{ type: 'entity.remove', id: 'x' }])
})

test('fresh ids skip taken ones', () => {
  assert.equal(freshId('box', new Set()), 'box')
  assert.equal(freshId('box', new Set(['box', 'box-2'])), 'box-3')
})

test('roles: what each may edit, as realtime/access.py decides', () => {
  assert.equal(mayEdit('layout', 'prop'), true)
  assert.equal(mayEdit('layout', 'camera'), false)
  assert.equal(mayEdit('camera', 'camera'), true)
  assert.equal(mayEdit('lighting', 'light'), true)
  assert.equal(mayEdit('motion', 'character'), true)
  assert.equal(mayEdit('viewer', 'prop'), false)
  assert.equal(mayEdit('director', 'light'), true)
  assert.equal(mayEdit('nobody', 'prop'), false)
  assert.equal(mayWrite('viewer'), false)
  assert.equal(mayRestore('camera'), true)
})

test('Euler XYZ degrees read back exactly what core makes of them', () => {
  for (const e of [[10, 20, 30], [-40, 15, 80], [5, -60, -20], [0, 0, 0], [170, 10, -170]]) {
    const back = quatToEulerDeg(quatFromEulerDeg(e, 'XYZ'))
    back.forEach((x, i) => assert.ok(Math.abs(x - e[i]) < 1e-9, `${e} → ${back}`))
  }
})

function tarEntry (name, data) {
  const header = new Uint8Array(512)
  header.set(new TextEncoder().encode(name), 0)
  header.set(new TextEncoder().encode(data.length.toString(8).padStart(11, '0') + '\0'), 124)
  header[156] = '0'.charCodeAt(0)
  const body = new Uint8Array(Math.ceil(data.length / 512) * 512)
  body.set(data)
  return [header, body]
}

test('the pack reader finds each file of a tar', () => {
  const parts = [...tarEntry('job/proxy/000000.png', new Uint8Array([1, 2, 3])), ...tarEntry('job/manifest.json', new TextEncoder().encode('{"a":1}')), new Uint8Array(1024)]
  const buf = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { buf.set(p, at); at += p.length }
  const files = untar(buf.buffer)
  assert.deepEqual(files.map((f) => f.name), ['job/proxy/000000.png', 'job/manifest.json'])
  assert.deepEqual([...files[0].data], [1, 2, 3])
  assert.equal(new TextDecoder().decode(files[1].data), '{"a":1}')
})

test('a user keeps one colour', () => {
  assert.equal(colorOf('ann'), colorOf('ann'))
  assert.match(colorOf('bob'), /^#[0-9a-f]{6}$/)
  assert.notEqual(colorOf('ann'), colorOf('bob'))
})
