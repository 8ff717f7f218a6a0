FROM php:8.2-fpm-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends nginx=1.22.1-9 && rm -rf /var/lib/apt/lists/*
COPY nginx.conf /etc/nginx/nginx.conf
COPY public/ /var/www/html/
EXPOSE 8080
CMD php-fpm -D && nginx -g 'daemon off;'
