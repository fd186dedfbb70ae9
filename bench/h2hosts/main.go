// h2hosts: HTTP/2 load with the :authority of every request drawn at random from a list of hosts, which h2load
// cannot do (its -i file takes the scheme, host and port of the first URI for every request). bench/h2.sh runs it
// beside h2load, on the same cells as h2load where both can, so the two clients can be compared.
//
//	h2hosts -url https://127.0.0.1:PORT -hosts FILE [-paths FILE] -d 10s -c 4 -m 8
//
// -c connections, each carrying -m concurrent streams (one goroutine per stream, each sending its next request
// when the previous answer is read). TLS is not verified (loopback; the daemon's fallback certificate); SNI is
// the first host. Standard library only: Go's HTTP/2 client sends Request.Host as :authority.
// Prints one line: RESULT requests=N ok=N non2xx=N errors=N rps=N p50_us=N p99_us=N max_us=N
package main

import (
	"bufio"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

func lines(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "h2hosts:", err)
		os.Exit(2)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if s.Text() != "" {
			out = append(out, s.Text())
		}
	}
	return out
}

func main() {
	url := flag.String("url", "", "where to connect, https://127.0.0.1:PORT")
	hostsFile := flag.String("hosts", "", "file with one host per line")
	pathsFile := flag.String("paths", "", "file with one path per line (default: /)")
	duration := flag.Duration("d", 10*time.Second, "duration")
	conns := flag.Int("c", 4, "connections")
	streams := flag.Int("m", 8, "concurrent streams per connection")
	flag.Parse()
	hosts := lines(*hostsFile)
	paths := []string{"/"}
	if *pathsFile != "" {
		paths = lines(*pathsFile)
	}

	var mu sync.Mutex
	var latencies []time.Duration
	var ok, non2xx, errors int
	deadline := time.Now().Add(*duration)
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < *conns; c++ {
		// One transport per connection: Go's HTTP/2 transport keeps one connection per address and multiplexes.
		tr := &http.Transport{ForceAttemptHTTP2: true, MaxConnsPerHost: 1,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: hosts[0]}}
		client := &http.Client{Transport: tr}
		for s := 0; s < *streams; s++ {
			wg.Add(1)
			go func(seed int64) {
				defer wg.Done()
				rnd := rand.New(rand.NewSource(seed))
				var mine []time.Duration
				var o, n, e int
				for time.Now().Before(deadline) {
					req, _ := http.NewRequest("GET", *url+paths[rnd.Intn(len(paths))], nil)
					req.Host = hosts[rnd.Intn(len(hosts))]
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						e++
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mine = append(mine, time.Since(t0))
					if resp.ProtoMajor != 2 {
						fmt.Fprintln(os.Stderr, "h2hosts: the server answered", resp.Proto, "not HTTP/2")
						os.Exit(1)
					}
					if resp.StatusCode >= 200 && resp.StatusCode < 300 {
						o++
					} else {
						n++
					}
				}
				mu.Lock()
				latencies = append(latencies, mine...)
				ok, non2xx, errors = ok+o, non2xx+n, errors+e
				mu.Unlock()
			}(int64(c*1000 + s))
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	q := func(p float64) int64 {
		if len(latencies) == 0 {
			return 0
		}
		i := int(p*float64(len(latencies)+0.0)+0.999999) - 1
		if i < 0 {
			i = 0
		}
		if i >= len(latencies) {
			i = len(latencies) - 1
		}
		return latencies[i].Microseconds()
	}
	n := ok + non2xx
	fmt.Printf("RESULT requests=%d ok=%d non2xx=%d errors=%d rps=%.0f p50_us=%d p99_us=%d max_us=%d\n",
		n, ok, non2xx, errors, float64(n)/elapsed.Seconds(), q(0.5), q(0.99), q(1))
}
