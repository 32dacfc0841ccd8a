package jsonpath

import (
	"fmt"
	"strconv"
	"strings"
)

// node is one piece of a template: textNode, *chain (an action) or
// *rangeNode.
type node any

// textNode is literal text outside braces.
type textNode struct{ text string }

// chain is an expression: steps applied one after the other, each to every
// result of the previous one.
type chain struct{ steps []step }

// rangeNode is {range EXPR}BODY{end}.
type rangeNode struct {
	expr *chain
	body []node
}

// step is one element of a chain.
type step any

type (
	fieldStep     struct{ name string } // .name, ['name']; "" is the current value
	recursiveStep struct{}              // ..
	wildcardStep  struct{}              // .* or [*]
	literalStep   struct{ value any }   // "text", 'text', 12, 1.5, true
	unionStep     struct{ alts []*chain }
	filterStep    struct {
		left, right *chain
		op          string // ==, !=, <, >, <=, >=, or "exists"
	}
	indexStep struct {
		single             bool // [i] rather than a slice
		start, end, stride int
		hasStart, hasEnd   bool
		hasStride          bool
	}
)

// parser reads a template or a sub-expression.
type parser struct {
	src string
	pos int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

// parseTemplate parses text, actions and range blocks.
func (p *parser) parseTemplate() ([]node, error) {
	var root []node
	stack := []*[]node{&root}
	for !p.eof() {
		top := stack[len(stack)-1]
		i := strings.IndexByte(p.src[p.pos:], '{')
		if i < 0 {
			*top = append(*top, textNode{p.src[p.pos:]})
			break
		}
		if i > 0 {
			*top = append(*top, textNode{p.src[p.pos : p.pos+i]})
		}
		p.pos += i + 1
		kw, expr, err := p.parseAction()
		if err != nil {
			return nil, err
		}
		switch kw {
		case "range":
			r := &rangeNode{expr: expr}
			*top = append(*top, r)
			stack = append(stack, &r.body)
		case "end":
			if len(stack) == 1 {
				return nil, p.errorf("{end} without {range}")
			}
			stack = stack[:len(stack)-1]
		default:
			*top = append(*top, expr)
		}
	}
	if len(stack) > 1 {
		return nil, p.errorf("{range} without {end}")
	}
	return root, nil
}

// parseAction parses what follows a '{' up to and including its '}'. kw is
// "range", "end" or "".
func (p *parser) parseAction() (kw string, expr *chain, err error) {
	p.skipSpace()
	switch word := p.peekWord(); word {
	case "range":
		p.pos += len(word)
		expr, err = p.parseChain('}')
		return word, expr, err
	case "end":
		p.pos += len(word)
		p.skipSpace()
		if p.eof() || p.src[p.pos] != '}' {
			return "", nil, p.errorf("{end} takes no argument")
		}
		p.pos++
		return word, nil, nil
	}
	expr, err = p.parseChain('}')
	return "", expr, err
}

func (p *parser) skipSpace() {
	for !p.eof() && isSpace(p.src[p.pos]) {
		p.pos++
	}
}

// peekWord returns the identifier at the current position, if any.
func (p *parser) peekWord() string {
	end := p.pos
	for end < len(p.src) && isAlnum(p.src[end]) {
		end++
	}
	return p.src[p.pos:end]
}

// parseChain parses steps until stop (consumed) or, with stop 0, the end
// of the input.
func (p *parser) parseChain(stop byte) (*chain, error) {
	c := &chain{}
	for {
		if p.eof() {
			if stop != 0 {
				return nil, p.errorf("unclosed action: missing %q", stop)
			}
			return c, nil
		}
		r := p.src[p.pos]
		var s step
		var err error
		switch {
		case stop != 0 && r == stop:
			p.pos++
			return c, nil
		case isSpace(r), r == '@', r == '$':
			p.pos++
			continue
		case r == '.':
			err = p.parseDot(c)
		case r == '[':
			s, err = p.parseBracket()
		case r == '"' || r == '\'':
			var str string
			str, err = p.parseQuote()
			s = literalStep{str}
		case r == '+' || r == '-' || isDigit(r):
			s, err = p.parseNumber()
		case isAlpha(r):
			s, err = p.parseIdentifier()
		default:
			err = p.errorf("unexpected character %q", r)
		}
		if err != nil {
			return nil, err
		}
		if s != nil {
			c.steps = append(c.steps, s)
		}
	}
}

// parseDot parses .name, .*, ..name, or a lone '.' (the current value).
func (p *parser) parseDot(c *chain) error {
	p.pos++ // '.'
	if !p.eof() && p.src[p.pos] == '.' {
		p.pos++
		c.steps = append(c.steps, recursiveStep{})
	}
	name, err := p.readName()
	if err != nil {
		return err
	}
	switch name {
	case "":
	case "*":
		c.steps = append(c.steps, wildcardStep{})
	default:
		c.steps = append(c.steps, fieldStep{name})
	}
	return nil
}

// readName reads a field name up to a terminator; a backslash escapes the
// next character.
func (p *parser) readName() (string, error) {
	var b strings.Builder
	for !p.eof() {
		r := p.src[p.pos]
		if isTerminator(r) {
			break
		}
		if r == '\\' {
			p.pos++
			if p.eof() {
				return "", p.errorf("trailing backslash")
			}
			r = p.src[p.pos]
		}
		b.WriteByte(r)
		p.pos++
	}
	return b.String(), nil
}

// parseQuote parses a single- or double-quoted string with Go escapes.
func (p *parser) parseQuote() (string, error) {
	q := p.src[p.pos]
	start := p.pos
	p.pos++
	for !p.eof() && p.src[p.pos] != q {
		if p.src[p.pos] == '\\' {
			p.pos++
		}
		p.pos++
	}
	if p.eof() {
		return "", p.errorf("unterminated quoted string")
	}
	p.pos++
	raw := p.src[start:p.pos]
	if q == '\'' {
		inner := raw[1 : len(raw)-1]
		inner = strings.ReplaceAll(inner, `\'`, `'`)
		inner = strings.ReplaceAll(inner, `"`, `\"`)
		raw = `"` + inner + `"`
	}
	s, err := strconv.Unquote(raw)
	if err != nil {
		return "", p.errorf("bad quoted string %s", p.src[start:p.pos])
	}
	return s, nil
}

func (p *parser) parseNumber() (step, error) {
	start := p.pos
	if p.src[p.pos] == '+' || p.src[p.pos] == '-' {
		p.pos++
	}
	for !p.eof() && (isDigit(p.src[p.pos]) || strings.IndexByte(".eE", p.src[p.pos]) >= 0 ||
		(strings.IndexByte("+-", p.src[p.pos]) >= 0 && strings.IndexByte("eE", p.src[p.pos-1]) >= 0)) {
		p.pos++
	}
	text := p.src[start:p.pos]
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		return literalStep{i}, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, p.errorf("bad number %q", text)
	}
	return literalStep{f}, nil
}

func (p *parser) parseIdentifier() (step, error) {
	word := p.peekWord()
	p.pos += len(word)
	switch word {
	case "true":
		return literalStep{true}, nil
	case "false":
		return literalStep{false}, nil
	case "null":
		return literalStep{nil}, nil
	}
	return nil, p.errorf("unrecognized identifier %q (paths start with a dot: .%s)", word, word)
}

func isSpace(r byte) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }
func isDigit(r byte) bool { return r >= '0' && r <= '9' }
func isAlpha(r byte) bool { return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }
func isAlnum(r byte) bool { return isAlpha(r) || isDigit(r) }

// isTerminator ends a field name, as in kubectl.
func isTerminator(r byte) bool {
	return isSpace(r) || strings.IndexByte(".,[]$@{}", r) >= 0
}
