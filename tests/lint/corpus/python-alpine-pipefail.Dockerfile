FROM python:3.12-alpine3.20
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
RUN apk add --no-cache libffi=3.4.6-r0 openssl=3.3.1-r3 \
    && apk add --no-cache --virtual .build-deps gcc=13.2.1_git20240309-r0 musl-dev=1.2.5-r0 libffi-dev=3.4.6-r0 \
    && wget -qO- https://example.com/pubkey.asc | gpg --import \
    && apk del .build-deps
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY app/ app/
RUN adduser -D -u 10001 svc
USER svc
CMD ["python", "-m", "app"]
