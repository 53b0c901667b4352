package pbxtest

import (
	"context"
	"errors"

	"github.com/emiago/sipgo/sip"
)

// DialOption changes an outgoing call.
type DialOption func(*dialConfig)

type dialConfig struct {
	codecs  []uint8
	body    []byte
	headers []sip.Header
	from    string
	to      string
}

// WithHeader adds a header to the INVITE (for instance the Record-Route a
// proxy between phone and PBX would add).
func WithHeader(name, value string) DialOption {
	return func(d *dialConfig) { d.headers = append(d.headers, sip.NewHeader(name, value)) }
}

// WithOffer sets the codecs the INVITE offers, in preference order
// (default: the UA's codecs).
func WithOffer(codecs ...uint8) DialOption { return func(d *dialConfig) { d.codecs = codecs } }

// WithFrom puts user in the INVITE's From instead of the UA's User (a
// provider's UA placing a call from an outside number).
func WithFrom(user string) DialOption { return func(d *dialConfig) { d.from = user } }

// WithTo puts user in the INVITE's To instead of the dialled number,
// which stays in the Request-URI (a provider that calls the registered
// contact and names the DID in To).
func WithTo(user string) DialOption { return func(d *dialConfig) { d.to = user } }

// WithBody sends body as the INVITE's SDP as it is (for malformed offers).
func WithBody(body []byte) DialOption { return func(d *dialConfig) { d.body = body } }

// Dial calls number through the PBX and returns once the INVITE has its
// final response (Status). On 200 the call is up and its media flows.
func (u *UA) Dial(ctx context.Context, number string, opts ...DialOption) (*Call, error) {
	c, err := u.Invite(ctx, number, opts...)
	if err != nil {
		return nil, err
	}
	if _, err := c.WaitFinal(ctx); err != nil {
		return c, err
	}
	return c, nil
}

// Invite sends an INVITE to number and returns at once; the call follows
// its responses (answering one digest challenge) in the background.
func (u *UA) Invite(ctx context.Context, number string, opts ...DialOption) (*Call, error) {
	cfg := dialConfig{codecs: u.Codecs, from: u.User, to: number}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := u.newCall(true)
	if err != nil {
		return nil, err
	}
	body := cfg.body
	if body == nil {
		body = buildSDP(c.media.port(), cfg.codecs, u.EventPT)
		if cr := c.media.offerCrypto(); cr != nil {
			body = withCrypto(body, *cr, true)
		}
	}
	callID := sip.GenerateTagN(24)
	build := func(seq uint32) *sip.Request {
		req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: number, Host: u.pbxHost, Port: u.pbxPort})
		from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: cfg.from, Host: u.pbxHost}, Params: sip.NewParams()}
		from.Params.Add("tag", c.localTag)
		req.AppendHeader(from)
		req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: cfg.to, Host: u.pbxHost}, Params: sip.NewParams()})
		cid := sip.CallIDHeader(callID)
		req.AppendHeader(&cid)
		req.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.INVITE})
		req.AppendHeader(sip.NewHeader("Contact", "<"+u.Contact()+">"))
		req.AppendHeader(sip.NewHeader("User-Agent", "pbxtest-ua"))
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		for _, h := range cfg.headers {
			req.AppendHeader(sip.HeaderClone(h))
		}
		req.SetBody(body)
		u.toPBX(req)
		return req
	}
	req := build(1)
	tx, err := u.client.TransactionRequest(ctx, req)
	if err != nil {
		c.close()
		return nil, err
	}
	c.Invite = req
	c.cseq = 1
	u.addCall(callID, c)
	if !u.begin() {
		tx.Terminate()
		c.close()
		return nil, errors.New("UA closed")
	}
	go func() {
		defer u.wg.Done()
		c.follow(tx, build)
	}()
	return c, nil
}

// follow reads the INVITE's responses until the final one.
func (c *Call) follow(tx sip.ClientTransaction, build func(uint32) *sip.Request) {
	u := c.ua
	authed := false
	defer func() { tx.Terminate() }()
	for {
		select {
		case res := <-tx.Responses():
			switch {
			case res.StatusCode < 200:
				if res.StatusCode > 100 {
					if tag, ok := res.To().Params.Get("tag"); ok {
						c.mu.Lock()
						c.remoteTag = tag // the early dialog's
						c.mu.Unlock()
					}
					c.ringOnce.Do(func() { close(c.ringing) })
				}
				if rm, err := parseSDP(res.Body()); err == nil && len(res.Body()) > 0 && len(rm.codecs) > 0 {
					c.mu.Lock()
					c.earlySDP = res.Body()
					c.mu.Unlock()
					if _, err := c.media.keyFrom(rm.crypto, 1); err != nil {
						c.ua.t.Logf("SRTP keys of early media: %v", err)
					}
					c.media.start(rm.addr, rm.codecs[0], rm.eventPT, c.ua.Tone) // early media
				}
			case (res.StatusCode == sip.StatusProxyAuthRequired || res.StatusCode == sip.StatusUnauthorized) && !authed:
				authed = true
				req := build(2)
				if err := u.Authorize(req, res); err != nil {
					c.fail(res)
					return
				}
				ntx, err := u.client.TransactionRequest(u.ctx, req)
				if err != nil {
					c.fail(res)
					return
				}
				tx.Terminate()
				tx = ntx
				c.mu.Lock()
				c.Invite, c.cseq = req, 2
				c.mu.Unlock()
			case res.StatusCode < 300:
				c.answered(res)
				return
			default:
				c.fail(res)
				return
			}
		case <-tx.Done():
			c.setFinal(sip.StatusRequestTimeout, nil)
			c.close()
			return
		case <-u.ctx.Done():
			return
		}
	}
}

func (c *Call) fail(res *sip.Response) {
	c.setFinal(res.StatusCode, res)
	c.close()
}

// answered ACKs a 2xx and starts the media.
func (c *Call) answered(res *sip.Response) {
	c.mu.Lock()
	inv := c.Invite
	if tag, ok := res.To().Params.Get("tag"); ok {
		c.remoteTag = tag
	}
	c.remoteTarget = inv.Recipient
	if ct := res.Contact(); ct != nil {
		c.remoteTarget = *ct.Address.Clone()
	}
	target := c.remoteTarget
	c.mu.Unlock()
	ack := sip.NewRequest(sip.ACK, *target.Clone())
	ack.AppendHeader(sip.HeaderClone(inv.From()))
	ack.AppendHeader(sip.HeaderClone(res.To()))
	ack.AppendHeader(sip.HeaderClone(inv.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: inv.CSeq().SeqNo, MethodName: sip.ACK})
	c.ua.toPBX(ack)
	if err := c.ua.client.WriteRequest(ack); err != nil {
		c.ua.t.Logf("ACK: %v", err)
	}
	if rm, err := parseSDP(res.Body()); err == nil && len(rm.codecs) > 0 {
		if _, err := c.media.keyFrom(rm.crypto, 1); err != nil {
			c.ua.t.Logf("SRTP keys of the answer: %v", err)
		}
		c.media.start(rm.addr, rm.codecs[0], rm.eventPT, c.ua.Tone)
	}
	c.setFinal(res.StatusCode, res)
}
