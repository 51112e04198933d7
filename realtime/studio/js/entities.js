// The entity list: every entity of the document by id (as text), its kind, and who has it selected.

export function renderEntities (ul, entities, { selection, others, onSelect }) {
  const ids = Object.keys(entities).sort()
  const selectedBy = new Map()
  for (const { state } of others) {
    for (const id of state.selection || []) selectedBy.set(id, state.user)
  }
  const items = ids.map((id) => {
    const li = document.createElement('li')
    li.dataset.entity = id
    if (selection.includes(id)) li.classList.add('on')
    const name = document.createElement('span')
    name.className = 'entity-id'
    name.textContent = id
    li.append(name)
    const who = selectedBy.get(id)
    if (who) {
      const dot = document.createElement('span')
      dot.className = 'swatch'
      dot.style.background = who.color || '#fff'
      dot.title = `selected by ${who.name || who.id}`
      li.append(dot)
    }
    const kind = document.createElement('span')
    kind.className = 'kind'
    kind.textContent = entities[id].kind
    li.append(kind)
    li.addEventListener('click', () => onSelect(id))
    return li
  })
  ul.replaceChildren(...items)
  return ids.length
}
