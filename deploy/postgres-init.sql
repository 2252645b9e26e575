-- The conversation store lives in its own database next to the application database.
CREATE DATABASE rasa OWNER customs;
