// The HTTP API (SPEC §6) with the signed-in token. Every failure is an ApiError carrying the server's reason.

export class ApiError extends Error {
  constructor (status, reason, body) {
    super(reason)
    this.status = status
    this.body = body
  }
}

export class Api {
  constructor (token, { onUnauthorized = () => {} } = {}) {
    this.token = token
    this.onUnauthorized = onUnauthorized
  }

  async request (method, path, body) {
    const init = { method, headers: { Authorization: `Bearer ${this.token}` } }
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json'
      init.body = JSON.stringify(body)
    }
    const res = await fetch(path, init)
    const text = await res.text()
    let data = null
    try { data = text ? JSON.parse(text) : null } catch { data = { reason: text } }
    if (!res.ok) {
      const reason = (data && (data.reason || data.detail)) || `${res.status} ${res.statusText}`
      const err = new ApiError(res.status, reason, data)
      if (res.status === 401) this.onUnauthorized(err)
      throw err
    }
    return data
  }

  get (path) { return this.request('GET', path) }
  post (path, body) { return this.request('POST', path, body) }

  projects () { return this.get('/v1/projects') }
  project (p) { return this.get(`/v1/projects/${p}`) }
  shots (p) { return this.get(`/v1/projects/${p}/shots`) }
  createShot (p, body) { return this.post(`/v1/projects/${p}/shots`, body) }
  shotPath (p, s) { return `/v1/projects/${p}/shots/${s}` }
  command (p, s, command) { return this.post(`${this.shotPath(p, s)}/commands`, command) }
  sampled (p, s, frame) { return this.get(`${this.shotPath(p, s)}/world?frame=${frame}`) }
  history (p, s, { limit = 60, actor, entity, op } = {}) {
    const q = new URLSearchParams({ limit: String(limit) })
    for (const [k, v] of Object.entries({ actor, entity, op })) if (v) q.set(k, v)
    return this.get(`${this.shotPath(p, s)}/history?${q}`)
  }

  worldAt (p, s, seq) { return this.get(`${this.shotPath(p, s)}/world?at=${seq}`) }
  fork (p, s, body) { return this.post(`${this.shotPath(p, s)}/fork`, body) }
  suggestions (p, s) { return this.get(`${this.shotPath(p, s)}/suggestions?status=pending`) }
  decide (p, s, id, verdict) { return this.post(`${this.shotPath(p, s)}/suggestions/${id}/${verdict}`) }
  rollback (p, s, commandId, toSeq) { return this.post(`${this.shotPath(p, s)}/rollback`, { command_id: commandId, to_seq: toSeq }) }
  undo (p, s, commandId) { return this.post(`${this.shotPath(p, s)}/undo`, { command_id: commandId }) }
  redo (p, s, commandId) { return this.post(`${this.shotPath(p, s)}/redo`, { command_id: commandId }) }
}
