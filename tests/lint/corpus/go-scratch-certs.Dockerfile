FROM golang:1.21-alpine AS builder
RUN apk add git ca-certificates tzdata
WORKDIR /app
COPY . .
RUN go mod download
RUN CGO_ENABLED=0 go build -o /bin/api .

FROM scratch
COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=builder /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=builder /bin/api /bin/api
USER 65534
ENTRYPOINT ["/bin/api"]
