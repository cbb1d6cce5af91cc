"""A private Go module proxy for the daemon tests (GOPROXY protocol, the
files of `go help goproxy`), behind HTTP basic auth, as a company's
Athens or Artifactory is: a build reaches it only with the netrc secret.

Usage: goproxy.py MODULES_DIR PORT_FILE USER PASSWORD CERT KEY
Serves every MODULES_DIR/<path>@<version>/ directory as that module
version over HTTPS (Go sends netrc credentials only over HTTPS) on
0.0.0.0 (a port the kernel picks, written to PORT_FILE once listening),
and logs each request's path and whether it was let in."""

import base64
import http.server
import io
import json
import os
import ssl
import sys
import zipfile

modules_dir, port_file, user, password, cert, key = sys.argv[1:7]
expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()

versions = {}  # module path -> {version: directory}
for root, dirs, _ in os.walk(modules_dir):
    for d in list(dirs):
        if "@" in d:
            rel = os.path.relpath(os.path.join(root, d), modules_dir)
            path, version = rel.rsplit("@", 1)
            versions.setdefault(path, {})[version] = os.path.join(root, d)
            dirs.remove(d)


def module_zip(path, version, directory):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for root, _, files in os.walk(directory):
            for f in sorted(files):
                full = os.path.join(root, f)
                name = f"{path}@{version}/" + os.path.relpath(full, directory)
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                with open(full, "rb") as fh:
                    z.writestr(info, fh.read())
    return buf.getvalue()


class Proxy(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        authorized = self.headers.get("Authorization") == expected
        sys.stderr.write(f"GET {self.path} {'authorized' if authorized else 'refused'}\n")
        sys.stderr.flush()
        if not authorized:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="modules"')
            self.end_headers()
            return
        body = self.answer(self.path.split("?")[0].lstrip("/"))
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer(self, p):
        if "/@v/" not in p:
            return None
        path, rest = p.split("/@v/", 1)
        known = versions.get(path)
        if known is None:
            return None
        if rest == "list":
            return "".join(v + "\n" for v in sorted(known)).encode()
        version, _, ext = rest.rpartition(".")
        directory = known.get(version)
        if directory is None:
            return None
        if ext == "info":
            return json.dumps({"Version": version, "Time": "2024-01-01T00:00:00Z"}).encode()
        if ext == "mod":
            with open(os.path.join(directory, "go.mod"), "rb") as fh:
                return fh.read()
        if ext == "zip":
            return module_zip(path, version, directory)
        return None

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Proxy)
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
tls.load_cert_chain(cert, key)
server.socket = tls.wrap_socket(server.socket, server_side=True)
with open(port_file + ".tmp", "w") as fh:
    fh.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
