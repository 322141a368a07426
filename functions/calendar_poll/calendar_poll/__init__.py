"""The calendar_poll function (EventBridge schedule); its sync logic arrives with its own issue."""
