// Agents on this shot: each agent's mode (auto / suggest / off, one `shot.configure`; director and owner only)
// and the pending suggestions of agents in suggest mode, to accept (their ops, as you) or dismiss.

const REPAIR_AGENTS = ['collision', 'support', 'bounds']
const MODES = ['auto', 'suggest', 'off']

export function renderAgentModes (root, { modes, canConfigure, onMode }) {
  const names = [...new Set([...REPAIR_AGENTS, ...Object.keys(modes || {})])].sort()
  root.replaceChildren(...names.map((name) => {
    const l = document.createElement('label')
    l.className = 'agent-mode'
    l.textContent = name
    const sel = document.createElement('select')
    sel.name = `agent-${name}`
    for (const m of MODES) { const o = document.createElement('option'); o.value = m; o.textContent = m; sel.append(o) }
    sel.value = (modes && modes[name]) || 'auto'
    sel.disabled = !canConfigure
    sel.addEventListener('change', () => onMode(name, sel.value))
    l.append(sel)
    return l
  }))
}

export function renderSuggestions (ul, suggestions, { canDecide, onAccept, onDismiss }) {
  if (!suggestions.length) {
    const li = document.createElement('li'); li.className = 'muted'; li.textContent = 'No pending suggestions.'
    ul.replaceChildren(li)
    return
  }
  ul.replaceChildren(...suggestions.map((s) => {
    const li = document.createElement('li')
    li.dataset.suggestion = s.id
    const text = document.createElement('span')
    text.textContent = `${s.agent}: ${s.reason} (${s.ops.map((o) => o.type).join(', ')})`
    const ok = document.createElement('button'); ok.type = 'button'; ok.textContent = 'Accept'; ok.disabled = !canDecide
    ok.addEventListener('click', () => onAccept(s.id))
    const no = document.createElement('button'); no.type = 'button'; no.textContent = 'Dismiss'; no.disabled = !canDecide
    no.addEventListener('click', () => onDismiss(s.id))
    li.append(text, ok, no)
    return li
  }))
}
