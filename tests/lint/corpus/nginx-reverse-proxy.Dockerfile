FROM nginx:1.25
RUN apt-get update && apt-get install -y openssl && rm -rf /var/lib/apt/lists/*
COPY certs/server.key /etc/nginx/ssl/server.key
COPY certs/server.crt /etc/nginx/ssl/server.crt
COPY proxy.conf /etc/nginx/conf.d/default.conf
EXPOSE 80 443
USER root
