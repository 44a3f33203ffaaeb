-- One database per service (each service owns its data); run once by the postgres image on first start.
CREATE DATABASE kam_scoring;
CREATE DATABASE kam_complaints;
CREATE DATABASE kam_risk;
CREATE DATABASE kam_goals;
CREATE DATABASE kam_notifications;
CREATE DATABASE kam_gateway;
