module simplebank.local/pause

go 1.22
