FROM tomcat:9.0
MAINTAINER ops@example.com
RUN rm -rf /usr/local/tomcat/webapps/*
ADD target/shop.war /usr/local/tomcat/webapps/ROOT.war
ENV JAVA_OPTS="-Xms256m -Xmx512m"
ENV DB_PASSWORD=s3cr3tPassw0rd
EXPOSE 8080
CMD ["catalina.sh", "run"]
