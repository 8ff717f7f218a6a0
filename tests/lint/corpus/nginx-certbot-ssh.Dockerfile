FROM debian:11
RUN apt-get update && apt-get -y upgrade
RUN apt-get install -y nginx certbot openssh-server sudo
RUN mkdir /var/run/sshd && echo 'root:root' | chpasswd
EXPOSE 22 80 443
CMD service ssh start && nginx -g "daemon off;"
