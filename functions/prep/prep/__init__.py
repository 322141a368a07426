"""The prep function (SQS consumer -> Claude). Its worker arrives with the AI prep issue."""
