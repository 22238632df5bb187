import math

def am_i_prime(x: int) -> bool:
    for i in range(2, math.floor(math.sqrt(x))):
        if x % i == 0:
            return False
    return True
