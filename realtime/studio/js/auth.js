// The signed-in token: kept in localStorage, taken from `?token=` (then removed from the address bar), and read
// for its user (the JWT's `sub`; the server checks the signature, the page only shows the name).

const KEY = 'wnm.token'

export function tokenFromAddress () {
  const url = new URL(window.location.href)
  const token = url.searchParams.get('token')
  if (token === null) return null
  url.searchParams.delete('token')
  window.history.replaceState(null, '', url.pathname + url.search + url.hash)
  return token.trim()
}

export function storedToken () { return window.localStorage.getItem(KEY) }
export function storeToken (token) { window.localStorage.setItem(KEY, token) }
export function forgetToken () { window.localStorage.removeItem(KEY) }

export function userOf (token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
    const claims = JSON.parse(atob(part.padEnd(part.length + (4 - part.length % 4) % 4, '=')))
    return typeof claims.sub === 'string' ? claims.sub : null
  } catch {
    return null
  }
}

export function colorOf (user) {
  let h = 0
  for (const ch of user) h = (h * 31 + ch.codePointAt(0)) >>> 0
  const hue = h % 360
  // hsl(hue, 70%, 60%) as #rrggbb
  const s = 0.7; const l = 0.6
  const f = (n) => {
    const k = (n + hue / 30) % 12
    const c = l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1))
    return Math.round(c * 255).toString(16).padStart(2, '0')
  }
  return `#${f(0)}${f(8)}${f(4)}`
}
