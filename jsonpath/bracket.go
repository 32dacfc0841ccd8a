package jsonpath

import (
	"strconv"
	"strings"
)

// parseBracket parses [...]: an index, a slice, [*], a quoted key, a union
// of those, or a filter [?(...)].
func (p *parser) parseBracket() (step, error) {
	p.pos++ // '['
	if !p.eof() && p.src[p.pos] == '?' {
		return p.parseFilter()
	}
	start := p.pos
	end, err := p.scanTo(']', false)
	if err != nil {
		return nil, err
	}
	text := strings.TrimSpace(p.src[start:end])
	p.pos = end + 1
	parts := splitOutsideQuotes(text, ',')
	if len(parts) == 1 {
		return p.bracketItem(parts[0])
	}
	u := unionStep{}
	for _, part := range parts {
		s, err := p.bracketItem(strings.TrimSpace(part))
		if err != nil {
			return nil, err
		}
		u.alts = append(u.alts, &chain{steps: []step{s}})
	}
	return u, nil
}

// bracketItem parses one member of a bracket: *, 'key', "key", i, or
// start:end:stride.
func (p *parser) bracketItem(text string) (step, error) {
	switch {
	case text == "*":
		return wildcardStep{}, nil
	case text == "":
		return nil, p.errorf("empty brackets")
	case text[0] == '\'' || text[0] == '"':
		sub := &parser{src: text}
		key, err := sub.parseQuote()
		if err != nil {
			return nil, p.errorf("key %s: %v", text, err)
		}
		if !sub.eof() {
			return nil, p.errorf("unexpected text after key %s", text)
		}
		return fieldStep{key}, nil
	}
	return p.parseIndex(text)
}

// parseIndex parses i, start:end or start:end:stride (each part optional in
// a slice).
func (p *parser) parseIndex(text string) (step, error) {
	parts := strings.Split(text, ":")
	if len(parts) > 3 {
		return nil, p.errorf("invalid array index %q", text)
	}
	var nums [3]int
	var has [3]bool
	for i, part := range parts {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil, p.errorf("invalid array index %q", text)
		}
		nums[i], has[i] = n, true
	}
	if len(parts) == 1 {
		if !has[0] {
			return nil, p.errorf("invalid array index %q", text)
		}
		return indexStep{single: true, start: nums[0], hasStart: true}, nil
	}
	if has[2] && nums[2] <= 0 {
		return nil, p.errorf("slice step must be > 0 in %q", text)
	}
	return indexStep{start: nums[0], end: nums[1], stride: nums[2],
		hasStart: has[0], hasEnd: has[1], hasStride: has[2]}, nil
}

// parseFilter parses ?(LEFT OP RIGHT)] or ?(EXPR)] after the '['.
func (p *parser) parseFilter() (step, error) {
	p.pos++ // '?'
	p.skipSpace()
	if p.eof() || p.src[p.pos] != '(' {
		return nil, p.errorf("filter must be [?(...)]")
	}
	p.pos++
	start := p.pos
	end, err := p.scanTo(')', true)
	if err != nil {
		return nil, err
	}
	text := p.src[start:end]
	p.pos = end + 1
	p.skipSpace()
	if p.eof() || p.src[p.pos] != ']' {
		return nil, p.errorf("unclosed filter: missing ']'")
	}
	p.pos++
	leftText, op, rightText := splitOperator(text)
	if op == "=" || op == "!" {
		return nil, p.errorf("filter %q: unknown operator %q (use == or !=)", text, op)
	}
	left, err := (&parser{src: leftText}).parseChain(0)
	if err != nil {
		return nil, p.errorf("filter %q: %v", text, err)
	}
	if op == "" {
		return filterStep{left: left, op: "exists"}, nil
	}
	right, err := (&parser{src: rightText}).parseChain(0)
	if err != nil {
		return nil, p.errorf("filter %q: %v", text, err)
	}
	return filterStep{left: left, right: right, op: op}, nil
}

// scanTo returns the offset of the next close outside quotes (and, with
// nest, outside nested parentheses) from the current position.
func (p *parser) scanTo(close byte, nest bool) (int, error) {
	depth := 0
	for i := p.pos; i < len(p.src); i++ {
		switch c := p.src[i]; {
		case c == '\'' || c == '"':
			j := skipQuoted(p.src, i)
			if j < 0 {
				return 0, p.errorf("unterminated quoted string")
			}
			i = j
		case nest && c == '(':
			depth++
		case c == close && depth == 0:
			return i, nil
		case nest && c == ')':
			depth--
		}
	}
	return 0, p.errorf("missing %q", close)
}

// skipQuoted returns the offset of the quote closing the string that opens
// at s[i], or -1.
func skipQuoted(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			return j
		}
	}
	return -1
}

// splitOutsideQuotes splits s at sep where sep is not inside quotes.
func splitOutsideQuotes(s string, sep byte) []string {
	var parts []string
	last := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'', '"':
			if j := skipQuoted(s, i); j >= 0 {
				i = j
			}
		case sep:
			parts = append(parts, s[last:i])
			last = i + 1
		}
	}
	return append(parts, s[last:])
}

// splitOperator finds the first comparison operator outside quotes.
func splitOperator(s string) (left, op, right string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '"':
			if j := skipQuoted(s, i); j >= 0 {
				i = j
			}
		case '=', '!', '<', '>':
			op = string(c)
			if i+1 < len(s) && s[i+1] == '=' {
				op += "="
			}
			return s[:i], op, s[i+len(op):]
		}
	}
	return s, "", ""
}
