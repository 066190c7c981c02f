/**
 * Line numbers of the values of a JSON text, by path (`regions.EU.peers`,
 * `churn[2].atS`), so that a scenario error can name the line of the field
 * that is wrong. Only called on text `JSON.parse` accepted, so it trusts
 * the syntax and stays small.
 */
export function jsonLines (text: string): Map<string, number> {
  const lines = new Map<string, number>()
  let i = 0
  let line = 1

  const skip = (): void => {
    while (i < text.length) {
      const c = text[i]
      if (c === '\n') {
        line++
      } else if (c !== ' ' && c !== '\t' && c !== '\r') {
        return
      }
      i++
    }
  }

  const readString = (): string => {
    // the opening quote is at i
    let j = i + 1
    while (j < text.length && text[j] !== '"') {
      j += text[j] === '\\' ? 2 : 1
    }
    const raw = text.slice(i, j + 1)
    i = j + 1
    return JSON.parse(raw) as string
  }

  const value = (path: string): void => {
    skip()
    lines.set(path, line)
    const c = text[i]

    if (c === '{') {
      i++
      skip()
      if (text[i] === '}') {
        i++
        return
      }
      for (;;) {
        skip()
        const key = readString()
        skip()
        i++ // :
        value(path === '' ? key : `${path}.${key}`)
        skip()
        if (text[i++] === '}') {
          return
        }
      }
    } else if (c === '[') {
      i++
      skip()
      if (text[i] === ']') {
        i++
        return
      }
      for (let k = 0; ; k++) {
        value(`${path}[${k}]`)
        skip()
        if (text[i++] === ']') {
          return
        }
      }
    } else if (c === '"') {
      readString()
    } else {
      while (i < text.length && !',}] \t\r\n'.includes(text[i])) {
        i++
      }
    }
  }

  value('')
  return lines
}

/** Line (1-based) of character offset `pos` in `text`. */
export function lineOf (text: string, pos: number): number {
  let line = 1
  for (let k = 0; k < pos && k < text.length; k++) {
    if (text[k] === '\n') {
      line++
    }
  }
  return line
}
