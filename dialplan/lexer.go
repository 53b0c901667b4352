package dialplan

// The lexer cuts a plan into words, quoted strings, braces and commas.
// Newlines carry no meaning for the grammar; the parser uses token lines
// only for error recovery and to keep a statement's arguments on its line.

type tokKind uint8

const (
	tEOF tokKind = iota
	tWord
	tString
	tLBrace
	tRBrace
	tComma
)

// token is one lexeme. For strings, text is the raw content between the
// quotes (escapes still in place) and col is the column of the opening quote.
type token struct {
	kind      tokKind
	text      string
	line, col int
}

// describe names the token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of file"
	case tLBrace:
		return "{"
	case tRBrace:
		return "}"
	case tComma:
		return ","
	case tString:
		return `"` + t.text + `"`
	}
	return t.text
}

func (t token) is(word string) bool { return t.kind == tWord && t.text == word }

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'
}

// lex tokenizes src. '#' starts a comment where a token could start (so
// "*#06#" is one word while "# note" is a comment); a word is a run of
// anything but white space, braces, commas and quotes, where "${...}" is
// kept whole so that destination templates stay one word.
func lex(src string, errs *ErrorList) []token {
	toks := make([]token, 0, len(src)/8+1)
	line, col, i := 1, 1, 0
	// adv moves i to j, counting characters (not UTF-8 continuation bytes).
	adv := func(j int) {
		for ; i < j; i++ {
			if src[i]&0xC0 != 0x80 {
				col++
			}
		}
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\n':
			i++
			line, col = line+1, 1
		case isSpace(c):
			adv(i + 1)
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '{' || c == '}' || c == ',':
			k := tComma
			if c == '{' {
				k = tLBrace
			} else if c == '}' {
				k = tRBrace
			}
			toks = append(toks, token{kind: k, text: src[i : i+1], line: line, col: col})
			adv(i + 1)
		case c == '"':
			startLine, startCol := line, col
			adv(i + 1)
			j := i
			for j < len(src) && src[j] != '"' && src[j] != '\n' {
				if src[j] == '\\' && j+1 < len(src) && src[j+1] != '\n' {
					j++
				}
				j++
			}
			toks = append(toks, token{kind: tString, text: src[i:j], line: startLine, col: startCol})
			if j >= len(src) || src[j] == '\n' {
				errs.add(startLine, startCol, "unterminated string: the closing \" is missing on this line")
				adv(j)
			} else {
				adv(j + 1)
			}
		default:
			startCol, j := col, i
			for j < len(src) {
				d := src[j]
				if isSpace(d) || d == '{' || d == '}' || d == ',' || d == '"' {
					break
				}
				if d == '$' && j+1 < len(src) && src[j+1] == '{' {
					k := j + 2
					for k < len(src) && src[k] != '}' && !isSpace(src[k]) && src[k] != '"' {
						k++
					}
					if k < len(src) && src[k] == '}' {
						k++
					}
					j = k
					continue
				}
				j++
			}
			toks = append(toks, token{kind: tWord, text: src[i:j], line: line, col: startCol})
			adv(j)
		}
	}
	return append(toks, token{kind: tEOF, line: line, col: col})
}
