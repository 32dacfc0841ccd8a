package cpuinfo

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// qmpConn is the few lines of QMP the probe needs: the greeting, the
// capabilities negotiation, then one command at a time, matched to its
// answer by id, skipping asynchronous events. It is not safe for
// concurrent use. The qemu package owns davit's real QMP client; this one
// exists so cpuinfo imports no davit package.
type qmpConn struct {
	dec  *json.Decoder
	enc  *json.Encoder
	next int
}

type qmpMessage struct {
	QMP    json.RawMessage `json:"QMP"`
	Event  string          `json:"event"`
	ID     string          `json:"id"`
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
}

// dialQMP reads the server's greeting from r and negotiates capabilities.
func dialQMP(r io.Reader, w io.Writer) (*qmpConn, error) {
	c := &qmpConn{dec: json.NewDecoder(r), enc: json.NewEncoder(w)}
	var greeting qmpMessage
	if err := c.dec.Decode(&greeting); err != nil {
		return nil, fmt.Errorf("read qmp greeting: %w", err)
	}
	if greeting.QMP == nil {
		return nil, fmt.Errorf("first message is no qmp greeting: %w", ErrQMP)
	}
	if err := c.execute("qmp_capabilities", nil, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// execute runs one command and decodes its return value into out (which
// may be nil).
func (c *qmpConn) execute(cmd string, args, out any) error {
	c.next++
	id := strconv.Itoa(c.next)
	req := struct {
		Execute   string `json:"execute"`
		Arguments any    `json:"arguments,omitempty"`
		ID        string `json:"id"`
	}{cmd, args, id}
	if err := c.enc.Encode(req); err != nil {
		return fmt.Errorf("send qmp %s: %w", cmd, err)
	}
	for {
		var m qmpMessage
		if err := c.dec.Decode(&m); err != nil {
			return fmt.Errorf("read qmp %s answer: %w", cmd, err)
		}
		if m.Event != "" || m.ID != id {
			continue
		}
		if m.Error != nil {
			return fmt.Errorf("qmp %s: %s: %s: %w", cmd, m.Error.Class, m.Error.Desc, ErrQMP)
		}
		if m.Return == nil {
			return fmt.Errorf("qmp %s: answer has neither return nor error: %w", cmd, ErrQMP)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(m.Return, out); err != nil {
			return fmt.Errorf("decode qmp %s answer: %v: %w", cmd, err, ErrQMP)
		}
		return nil
	}
}
