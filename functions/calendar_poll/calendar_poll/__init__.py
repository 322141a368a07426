"""The calendar_poll function (EventBridge schedule). Its sync logic arrives with the calendar polling issue."""
