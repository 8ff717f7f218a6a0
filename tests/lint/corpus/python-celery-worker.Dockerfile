FROM python:3.10
RUN apt-get update && apt-get install -y --no-install-recommends \
        curl \
        netcat-openbsd \
    && rm -rf /var/lib/apt/lists/*
RUN pip install celery redis
WORKDIR /worker
ADD . /worker
RUN pip install -r requirements.txt
ENV CELERY_BROKER_URL redis://redis:6379/0
CMD celery -A tasks worker --loglevel=info
