FROM golang:1.20
RUN apt-get update && apt-get install -y git make && rm -rf /var/lib/apt/lists/*
WORKDIR /workspace
COPY . .
RUN make build
EXPOSE 9090
ENTRYPOINT ./bin/exporter --web.listen-address=:9090
