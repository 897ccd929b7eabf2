* Source:     Pyomo MPS Writer
* Format:     Free MPS
*
NAME knapsack12
OBJSENSE
 MAX
ROWS
 N  value
 L  c_u_capacity_
COLUMNS
     take(0) value 49
     take(0) c_u_capacity_ 26
     take(1) value 29
     take(1) c_u_capacity_ 13
     take(2) value 55
     take(2) c_u_capacity_ 39
     take(3) value 40
     take(3) c_u_capacity_ 38
     take(4) value 10
     take(4) c_u_capacity_ 7
     take(5) value 33
     take(5) c_u_capacity_ 11
     take(6) value 18
     take(6) c_u_capacity_ 11
     take(7) value 32
     take(7) c_u_capacity_ 11
     take(8) value 44
     take(8) c_u_capacity_ 25
     take(9) value 17
     take(9) c_u_capacity_ 17
     take(10) value 32
     take(10) c_u_capacity_ 21
     take(11) value 26
     take(11) c_u_capacity_ 13
RHS
     RHS c_u_capacity_ 104
BOUNDS
 BV BOUND take(0)
 BV BOUND take(1)
 BV BOUND take(2)
 BV BOUND take(3)
 BV BOUND take(4)
 BV BOUND take(5)
 BV BOUND take(6)
 BV BOUND take(7)
 BV BOUND take(8)
 BV BOUND take(9)
 BV BOUND take(10)
 BV BOUND take(11)
ENDATA
