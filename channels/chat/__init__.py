"""Chat: the residents' socket.io namespace /chat and live delivery of counsellors' answers."""
