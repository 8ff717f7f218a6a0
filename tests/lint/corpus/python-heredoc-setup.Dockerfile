# syntax=docker/dockerfile:1.4
FROM debian:bookworm-slim
RUN <<EOF
set -eux
apt-get update
apt-get install -y --no-install-recommends python3=3.11.2-1+b1 python3-venv=3.11.2-1+b1
rm -rf /var/lib/apt/lists/*
EOF
COPY <<EOF /etc/app/config.ini
[server]
port = 8080
EOF
RUN python3 -m venv /venv && /venv/bin/pip install --no-cache-dir flask==3.0.3
COPY app.py /srv/app.py
USER nobody
CMD ["/venv/bin/python", "/srv/app.py"]
