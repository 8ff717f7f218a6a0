FROM gradle:8.8-jdk17 AS build
COPY --chown=gradle:gradle . /home/gradle/src
WORKDIR /home/gradle/src
RUN gradle bootJar --no-daemon

FROM gcr.io/distroless/java17-debian12
COPY --from=build /home/gradle/src/build/libs/*.jar /app/app.jar
WORKDIR /app
CMD ["app.jar"]
