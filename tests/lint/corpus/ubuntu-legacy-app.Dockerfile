FROM ubuntu:20.04
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update
RUN apt-get install -y python3 python3-pip wget
RUN wget -qO- https://get.example.com/install.sh | sh
RUN pip3 install flask gunicorn
ADD app /opt/app
ADD https://example.com/config/app.conf /etc/app.conf
WORKDIR /opt/app
EXPOSE 8000
ENTRYPOINT gunicorn -b 0.0.0.0:8000 app:app
CMD ["--workers", "4"]
