from .launch import run

if __name__ == "__main__":  # not when a worker server imports the main module
    run()
