FROM ubuntu:22.04
RUN apt-get update && apt-get install -y curl ca-certificates gnupg
RUN curl -fsSL https://deb.nodesource.com/setup_20.x | bash -
RUN apt-get install -y nodejs
WORKDIR /srv
COPY . .
RUN npm ci --omit=dev
CMD ["node", "app.js"]
