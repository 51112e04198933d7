// Who is here (awareness, SPEC §5): name and colour, their frame, their selection, what they are dragging.

export function renderPresence (ul, me, others) {
  const row = (user, state, self) => {
    const li = document.createElement('li')
    li.dataset.user = user.id || user.name || ''
    const dot = document.createElement('span')
    dot.className = 'swatch'
    dot.style.background = user.color || '#fff'
    const text = document.createElement('span')
    const parts = [`${user.name || user.id}${self ? ' (you)' : ''}`]
    if (typeof state.frame === 'number') parts.push(`frame ${fmt(state.frame)}`)
    if (state.selection && state.selection.length) parts.push(`selected ${state.selection.join(', ')}`)
    if (state.drag && state.drag.entity) parts.push(`dragging ${state.drag.entity}.${state.drag.path}`)
    if (state.camera) parts.push(`through ${state.camera}`)
    text.textContent = parts.join(' · ')
    li.append(dot, text)
    return li
  }
  const items = [row(me.user, me, true), ...others.map(({ state }) => row(state.user, state, false))]
  ul.replaceChildren(...items)
}

const fmt = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(2))
