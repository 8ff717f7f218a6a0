FROM alpine:3.19
ARG GITHUB_TOKEN
ARG DB_USER=app
ENV AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
ENV AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
RUN apk add --no-cache git=2.43.4-r0 && git clone https://x-access-token:${GITHUB_TOKEN}@github.com/acme/private.git /src
COPY id_rsa /root/.ssh/id_rsa
COPY .env /app/.env
CMD ["/src/run"]
