FROM openjdk:17-jdk-slim
ARG JAR_FILE=build/libs/*.jar
COPY ${JAR_FILE} app.jar
RUN apt-get update && apt-get install -y curl && apt-get clean
ENTRYPOINT ["java","-jar","/app.jar"]
