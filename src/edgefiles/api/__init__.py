"""HTTP: routing and thin handlers (parse request -> call services -> build response)."""
