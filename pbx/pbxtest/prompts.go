package pbxtest

import (
	"bytes"
	"io"
	"math"
	"mime/multipart"
	"net/http"

	"github.com/officepbx/pbx/media"
)

// ToneWAV is seconds of a sine at freq Hz, at a third of full scale, as an
// 8 kHz mono 16-bit WAV file: a prompt whose sound a test can recognise.
func ToneWAV(freq, seconds float64) []byte {
	pcm := make([]int16, int(seconds*sampleRate))
	for i := range pcm {
		pcm[i] = int16(10000 * math.Sin(2*math.Pi*freq*float64(i)/sampleRate))
	}
	var b bytes.Buffer
	if err := media.WriteWAV(&b, pcm); err != nil {
		panic(err) // a bytes.Buffer does not fail
	}
	return b.Bytes()
}

// UploadPrompt uploads wav as the prompt name through the REST API (POST
// /api/v1/prompts, multipart, as admin) and returns the status and body.
func (p *PBX) UploadPrompt(name string, wav []byte) (int, []byte) {
	p.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	w.WriteField("name", name)
	fw, err := w.CreateFormFile("file", name+".wav")
	if err != nil {
		p.t.Fatal(err)
	}
	fw.Write(wav)
	if err := w.Close(); err != nil {
		p.t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, p.URL+"/api/v1/prompts", &body)
	if err != nil {
		p.t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+p.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("upload prompt %s: %v", name, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		p.t.Fatalf("upload prompt %s: %v", name, err)
	}
	return res.StatusCode, out
}
