FROM alpine:3.20
RUN apk update && apk add bash curl jq git openssh-client
RUN curl -L https://github.com/mikefarah/yq/releases/download/v4.44.2/yq_linux_amd64 -o /usr/bin/yq && chmod +x /usr/bin/yq
WORKDIR work
ENTRYPOINT ["/bin/bash"]
