package webchat

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"time"
)

// connWriteTimeout bounds one write to a visitor's connection: a client
// that stopped reading is dropped instead of holding the stream.
const connWriteTimeout = 15 * time.Second

// connWriter answers a request on a connection taken over from net/http:
// an HTTP/1.1 response whose body is sent in chunks, one per flush, and
// which ends with the connection. It holds nothing between flushes but
// what was written since the last one.
type connWriter struct {
	conn   net.Conn
	header http.Header
	head   []byte // the status line and header fields, until sent
	body   []byte // written since the last flush
	status int
}

// hijack takes the request's connection from net/http, keeping the
// response headers set so far; nil when the protocol cannot hand it over
// (HTTP/2) or it was already answered.
func hijack(w http.ResponseWriter) *connWriter {
	header := w.Header().Clone()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil
	}
	// Anything the client sent after the request is not read: this answer
	// is the connection's last.
	return &connWriter{conn: conn, header: header}
}

// Header implements http.ResponseWriter.
func (c *connWriter) Header() http.Header { return c.header }

// WriteHeader implements http.ResponseWriter.
func (c *connWriter) WriteHeader(status int) {
	if c.status != 0 {
		return
	}
	c.status = status
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 " + strconv.Itoa(status) + " " + http.StatusText(status) + "\r\n")
	c.header.Del("Content-Length")
	c.header.Set("Transfer-Encoding", "chunked")
	c.header.Set("Connection", "close")
	c.header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	c.header.Write(&b)
	b.WriteString("\r\n")
	c.head = b.Bytes()
}

// Write implements http.ResponseWriter: the data waits for the next flush.
func (c *connWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	c.body = append(c.body, p...)
	return len(p), nil
}

// FlushError sends the headers (the first time) and what was written since
// the last flush as one chunk; http.ResponseController calls it.
func (c *connWriter) FlushError() error {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	out := c.head
	if len(c.body) > 0 {
		out = strconv.AppendInt(out, int64(len(c.body)), 16)
		out = append(out, "\r\n"...)
		out = append(out, c.body...)
		out = append(out, "\r\n"...)
	}
	c.head = nil
	// A large first flush (a long transcript) is not kept for the life of
	// the stream.
	if cap(c.body) > 4<<10 {
		c.body = nil
	} else {
		c.body = c.body[:0]
	}
	if len(out) == 0 {
		return nil
	}
	c.conn.SetWriteDeadline(time.Now().Add(connWriteTimeout))
	_, err := c.conn.Write(out)
	return err
}

// SetWriteDeadline is what http.ResponseController asks of a stream; each
// flush sets its own deadline instead.
func (c *connWriter) SetWriteDeadline(time.Time) error { return nil }

// close ends the body and the connection.
func (c *connWriter) close() {
	if c.status != 0 && c.head == nil {
		c.conn.SetWriteDeadline(time.Now().Add(time.Second))
		c.conn.Write([]byte("0\r\n\r\n"))
	}
	c.conn.Close()
}
