// The shot's history (audit entries, newest first): who did what, refused edits and agents' repairs with their
// reasons. Click an entry to preview the world as it was just after it (read-only time travel through
// `world?at=`); ⟲ rolls the shot back to it (one new event; history is never rewritten); ⑂ forks a new take from it.

export function renderHistory (ul, entries, { canRestore, previewing, onPreview, onRollback, onFork }) {
  const items = entries.map((e) => {
    const li = document.createElement('li')
    li.dataset.seq = e.seq
    li.className = `${e.status}${previewing === e.seq ? ' previewing' : ''}`
    const seq = document.createElement('span')
    seq.className = 'seq'
    seq.textContent = `#${e.seq}`
    const what = document.createElement('span')
    what.className = 'ops'
    const who = e.actor_kind === 'user' ? e.actor_id : `${e.actor_kind}:${e.actor_id}`
    const reason = (e.payload && e.payload.reason) || ''
    what.textContent = `${who}: ${(e.op_types || []).join(', ')} ${(e.entity_ids || []).join(', ')}` +
      (e.status === 'rejected' ? ` — rejected: ${e.reason}` : reason ? ` — ${reason}` : '')
    what.title = `${what.textContent}\nclick: preview the world after #${e.seq} (read only)`
    what.addEventListener('click', () => onPreview(e.seq))
    const buttons = document.createElement('span')
    const button = (cls, text, title, action) => {
      const b = document.createElement('button')
      b.type = 'button'; b.className = cls; b.textContent = text; b.title = title
      b.disabled = !canRestore || e.status !== 'applied'
      b.addEventListener('click', action)
      buttons.append(b)
    }
    button('rollback', '⟲', `Roll the shot back to how it was after #${e.seq}`, () => onRollback(e.seq))
    button('fork', 'fork', `Fork a new take from the world after #${e.seq}`, () => onFork(e.seq))
    li.append(seq, what, buttons)
    return li
  })
  ul.replaceChildren(...items)
}
