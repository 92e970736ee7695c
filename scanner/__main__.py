import sys

from .launch import main

if __name__ == "__main__":  # not when a worker server imports the main module
    sys.exit(main())
