FROM node:20-bookworm
ARG NPM_TOKEN
WORKDIR /app
COPY .npmrc package.json package-lock.json ./
RUN npm ci && rm -f .npmrc
COPY . .
ENV API_KEY=sk_test_4eC39HqLyjWDarjtT1zdp7dc
EXPOSE 4000
CMD ["node", "index.js"]
