// The shot's history (audit entries, newest first): who did what, refused edits with their reason, and a
// rollback to any applied entry (one new event; history is never rewritten).

export function renderHistory (ul, entries, { canRestore, onRollback }) {
  const items = entries.map((e) => {
    const li = document.createElement('li')
    li.dataset.seq = e.seq
    li.className = e.status
    const seq = document.createElement('span')
    seq.className = 'seq'
    seq.textContent = `#${e.seq}`
    const what = document.createElement('span')
    what.className = 'ops'
    const who = e.actor_kind === 'user' ? e.actor_id : `${e.actor_kind}:${e.actor_id}`
    const reason = (e.payload && e.payload.reason) || ''
    what.textContent = `${who}: ${(e.op_types || []).join(', ')} ${(e.entity_ids || []).join(', ')}` +
      (e.status === 'rejected' ? ` — rejected: ${e.reason}` : reason ? ` — ${reason}` : '')
    what.title = what.textContent
    const btn = document.createElement('button')
    btn.type = 'button'
    btn.textContent = '⟲'
    btn.title = `Roll the shot back to how it was after #${e.seq}`
    btn.className = 'rollback'
    btn.disabled = !canRestore || e.status !== 'applied'
    btn.addEventListener('click', () => onRollback(e.seq))
    li.append(seq, what, btn)
    return li
  })
  ul.replaceChildren(...items)
}
