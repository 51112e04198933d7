// Renders: request a control pack of the shot (SPEC §8) from the current frame through the camera looked through
// (or the first camera), follow its progress, view its image passes side by side at any rendered frame, and
// download the pack. The pack comes as one tar from the API; its PNGs are read here (ustar entries).

const PASSES = ['proxy', 'depth', 'normal', 'instance', 'pose']
const PASS_FILE = /(?:^|\/)(proxy|depth|normal|instance|pose)\/(\d{6})\.png$/

/** The regular files of a tar archive: [{name, data: Uint8Array}] (ustar names with their prefix). */
export function untar (buffer) {
  const bytes = new Uint8Array(buffer)
  const text = (a, b) => new TextDecoder().decode(bytes.subarray(a, b)).replace(/\0.*$/s, '')
  const files = []
  let paxPath = null
  for (let at = 0; at + 512 <= bytes.length;) {
    const name = text(at, at + 100)
    if (!name) break // two zero blocks end the archive
    const size = parseInt(text(at + 124, at + 136).trim() || '0', 8)
    const type = String.fromCharCode(bytes[at + 156] || 48)
    const prefix = text(at + 345, at + 500)
    const data = bytes.subarray(at + 512, at + 512 + size)
    if (type === 'x') { // a pax header: its `path` names the next entry
      const m = /\d+ path=([^\n]*)\n/.exec(new TextDecoder().decode(data))
      paxPath = m ? m[1] : null
    } else if (type === '0' || type === '\0') {
      files.push({ name: paxPath || (prefix ? `${prefix}/${name}` : name), data })
      paxPath = null
    }
    at += 512 + Math.ceil(size / 512) * 512
  }
  return files
}

export class RendersPanel {
  constructor (root, { api, project, shot, frame, camera, canRender, toast }) {
    this.root = root
    this.api = api
    this.project = project
    this.shot = shot
    this.frame = frame
    this.camera = camera
    this.toast = toast
    this.urls = []
    root.innerHTML = `
      <div class="row"><label>frames <input class="r-count" type="number" min="1" max="48" value="4" style="width:50px"></label>
        <label>size <select class="r-size"><option value="320,180">320×180</option><option value="640,360">640×360</option>
        <option value="832,480">832×480</option></select></label><button type="button" class="r-go">Render</button></div>
      <div class="r-status muted">No render yet.</div><progress class="r-progress" max="1" value="0" hidden></progress>
      <div class="row r-done" hidden><label>frame <select class="r-frame"></select></label><a class="r-download" download>Download pack</a></div>
      <div class="r-passes"></div>`
    this.q = (c) => root.querySelector(c)
    this.q('.r-go').disabled = !canRender
    this.q('.r-go').title = canRender ? 'Render a control pack from the current frame' : 'your role may not render'
    this.q('.r-go').addEventListener('click', () => this.request())
    this.q('.r-frame').addEventListener('change', () => this.showFrame(this.q('.r-frame').value))
  }

  async request () {
    const n = Math.max(1, Math.min(48, Math.round(Number(this.q('.r-count').value) || 1)))
    const start = Math.round(this.frame())
    const body = { preset: 'custom', frames: Array.from({ length: n }, (_, i) => start + i),
      resolution: this.q('.r-size').value.split(',').map(Number), passes: PASSES }
    const cam = this.camera()
    if (cam) body.camera = cam
    try {
      const job = await this.api.post(`/v1/projects/${this.project}/shots/${this.shot}/renders`, body)
      this.frames = body.frames
      this.follow(job.job_id)
    } catch (e) {
      this.toast(`Render refused: ${e.message}`)
    }
  }

  async follow (jobId) {
    this.jobId = jobId
    const progress = this.q('.r-progress')
    progress.hidden = false
    this.q('.r-done').hidden = true
    this.q('.r-passes').replaceChildren()
    for (;;) {
      if (this.jobId !== jobId || !this.root.isConnected) return
      let st
      try {
        st = await this.api.get(`/v1/projects/${this.project}/renders/${jobId}`)
      } catch (e) {
        this.q('.r-status').textContent = `render ${jobId}: ${e.message}`
        return
      }
      progress.value = st.progress || 0
      this.q('.r-status').textContent = `render ${jobId}: ${st.state} ${st.frames_done ?? 0}/${st.frames_total ?? '?'} frames`
      if (st.state === 'done') break
      if (st.state === 'failed') { this.q('.r-status').textContent += ` — ${st.error || st.reason || ''}`; return }
      await new Promise((resolve) => setTimeout(resolve, 400))
    }
    await this.load(jobId)
  }

  async load (jobId) {
    const res = await fetch(`/v1/projects/${this.project}/renders/${jobId}/pack`, { headers: { Authorization: `Bearer ${this.api.token}` } })
    if (!res.ok) { this.toast(`Pack: ${res.status}`); return }
    const blob = await res.blob()
    for (const u of this.urls) URL.revokeObjectURL(u)
    this.urls = []
    const packUrl = URL.createObjectURL(blob)
    this.urls.push(packUrl)
    const a = this.q('.r-download')
    a.href = packUrl
    a.download = `${jobId}.tar`
    this.images = new Map() // frame index -> {pass: url}
    for (const f of untar(await blob.arrayBuffer())) {
      const m = PASS_FILE.exec(f.name)
      if (!m) continue
      const url = URL.createObjectURL(new Blob([f.data], { type: 'image/png' }))
      this.urls.push(url)
      if (!this.images.has(m[2])) this.images.set(m[2], {})
      this.images.get(m[2])[m[1]] = url
    }
    const sel = this.q('.r-frame')
    sel.replaceChildren(...[...this.images.keys()].sort().map((k) => {
      const o = document.createElement('option'); o.value = k
      o.textContent = String(this.frames ? this.frames[Number(k)] : Number(k)); return o
    }))
    this.q('.r-done').hidden = false
    this.q('.r-progress').hidden = true
    if (sel.options.length) this.showFrame(sel.options[0].value)
  }

  showFrame (key) {
    const passes = this.images.get(key) || {}
    this.q('.r-passes').replaceChildren(...PASSES.filter((p) => passes[p]).map((p) => {
      const fig = document.createElement('figure')
      const img = document.createElement('img')
      img.src = passes[p]; img.alt = `${p} pass`; img.dataset.pass = p
      const cap = document.createElement('figcaption'); cap.textContent = p
      fig.append(img, cap)
      return fig
    }))
  }
}
