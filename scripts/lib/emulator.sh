# Sourced by the emulator benchmarks: a moto S3 server and `cargo lambda watch` on free
# loopback ports, their PIDs appended to the caller's PIDS array (the caller kills them).
# Needs moto_server and cargo-lambda (pip install 'moto[server]' cargo-lambda).

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_moto LOGFILE: exports the AWS environment that points the SDKs at it.
start_moto() {
  local port
  port=$(free_port)
  moto_server -H 127.0.0.1 -p "$port" >"$1" 2>&1 &
  PIDS+=($!)
  export AWS_ENDPOINT_URL_S3="http://127.0.0.1:$port" AWS_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
  for _ in $(seq 100); do curl -s "$AWS_ENDPOINT_URL_S3" >/dev/null && break; sleep 0.1; done
}

# start_watch LOGFILE: sets RT_PORT. Its own session: the watcher signals its process group
# when it stops. (Not probed with curl: a request to its port waits for a function.)
start_watch() {
  RT_PORT=$(free_port)
  setsid cargo-lambda lambda watch --only-lambda-apis -A 127.0.0.1 -P "$RT_PORT" >"$1" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 300); do port_open "$RT_PORT" && break; sleep 0.1; done
}
