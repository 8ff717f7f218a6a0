FROM node:18
RUN npm install -g pm2 typescript@5.4.5
RUN apt-get update && apt-get install -y python3 make g++
WORKDIR /app
COPY package*.json ./
RUN npm install
COPY . .
RUN tsc -p .
EXPOSE 8080
CMD ["pm2-runtime", "dist/index.js"]
