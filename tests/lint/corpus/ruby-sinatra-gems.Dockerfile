FROM ruby:3.2-alpine
RUN apk add build-base
RUN gem install bundler:2.5.11
RUN gem install sinatra puma
WORKDIR /app
COPY app.rb config.ru ./
EXPOSE 4567
CMD ["puma", "-p", "4567"]
